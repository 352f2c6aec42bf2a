/** The planted themes of the demo's sample (see make-demo-data.mjs), for the benchmark and the demo's test. */
export interface PlantedTheme {
  name: string;
  /** The tags the theme's notes carry together. */
  tags: string[];
  /** A word the theme's notes share, when the theme is a way of speaking as well as a tag set. */
  cue?: string;
  count: number;
}
export declare const THEMES: readonly PlantedTheme[];
