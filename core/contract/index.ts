/**
 * The renderer↔host contract (SPEC C3): calls, events, errors, user-facing wording.
 */
export * from './names.ts';
export * from './errors.ts';
export * from './contract.ts';
export * from './messages.ts';
