/** Cheap to import on every run: the Actions module itself loads only inside a runner. */
export function isGithubActions(env: Record<string, string | undefined>): boolean {
  return env.GITHUB_ACTIONS === 'true';
}
