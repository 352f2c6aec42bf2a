/** jq-web ships no types: its module is a promise of jq compiled to WebAssembly. */
declare module 'jq-web' {
  interface Jq {
    /** `echo json | jq flags filter`: jq's stdout without its last newline; throws on a non-zero exit (err.exitCode, err.stderr). */
    raw(json: string, filter: string, flags?: string[]): string;
  }
  const jq: Promise<Jq>;
  export default jq;
}
