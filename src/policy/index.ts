// Public API of the policy toolkit: ids, the committed record and its hash, revocation signatures, reading
// state back from events, and the operations the CLI runs.
export * from "./errors";
export * from "./id";
export * from "./record";
export * from "./revoke";
export * from "./state";
export * from "./actions";
export * from "./params";
export * from "./format";
export * from "./conditions";
