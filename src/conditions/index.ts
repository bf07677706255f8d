// Public API of the access-conditions layer: the lingo and its validation, the canonical encoding and the
// owner's binding signature, evaluation against the chain, and proofs of who the requester is.
export * from "./errors";
export * from "./lingo";
export * from "./abi";
export { CONDITIONS_SCHEMA } from "./schema";
export * from "./validate";
export * from "./canonical";
export * from "./binding";
export * from "./reader";
export * from "./evaluate";
export * from "./requester";
export * from "./authorize";
