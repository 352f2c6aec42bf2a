/** How an item set reads in a table or a document: its labels, comma-separated. */
export const describeItems = (items: readonly string[]): string => items.join(', ');
