import { sanitize } from '../../contract/sanitize.js';

/** How an item set reads in a table or a document: its labels (insight words and tags, cleaned), comma-separated. */
export const describeItems = (items: readonly string[]): string => items.map(sanitize).join(', ');
