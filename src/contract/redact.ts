/** Secret redaction, the same for every floor that writes text a person or a log may see. */

/**
 * The ways a key can show up in what a server echoes back: as given; without a "Bearer "
 * prefix the user included (only the rest is sent); with its spaces collapsed, as error
 * messages are put on one line; and each as JSON escapes it (--json). Forms under 4 characters are left out.
 */
export function secretForms(secret: string): string[] {
  const bare = secret.replace(/^Bearer\s+/i, '');
  const plain = [secret, bare, secret.replace(/\s+/g, ' ').trim(), bare.replace(/\s+/g, ' ').trim()];
  return [...new Set([...plain, ...plain.map((form) => JSON.stringify(form).slice(1, -1))])].filter((form) => form.length >= 4);
}

/** Every form of every secret (see secretForms) replaced by [redacted]: the one redaction used everywhere. */
export function redactSecrets(text: string, secrets: Iterable<string | undefined>): string {
  const forms = new Set<string>();
  for (const secret of secrets) if (secret) for (const form of secretForms(secret)) forms.add(form);
  return replaceForms(text, forms);
}

export function replaceForms(text: string, forms: Iterable<string>): string {
  let result = text;
  // The longest first: the raw key may be a part of its escaped form.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) result = result.split(form).join('[redacted]');
  return result;
}
