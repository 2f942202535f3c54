/**
 * tui: `nomadts top`, the live operator console (Ink). State lives in pure reducers
 * (model/), fed by an external store (store.ts) from the API client (feed.ts); components
 * (components/, app.tsx) only render; operator actions run through actions.ts.
 */
export { App, keyName } from './app.js';
export type { AppProps } from './app.js';
export { TopStore } from './store.js';
export type { Scheduler } from './store.js';
export { runFeed, loadSnapshot } from './feed.js';
export { runAction } from './actions.js';
export { reduce } from './model/reducer.js';
export type { Action } from './model/reducer.js';
export { initialState, Limits, Panels, PanelTitles } from './model/state.js';
export type { OperatorAction, PanelId, TopState } from './model/state.js';
export { Bindings, commandLine, handleKey, parseDeadline } from './model/keymap.js';
