/** The console's pure model: state, reducer, selectors and keymap. */
export * from './state.js';
export * from './reducer.js';
export * from './selectors.js';
export * from './keymap.js';
