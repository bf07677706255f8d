// Injected by scripts/build-web.ts wherever a module of the bundle uses the global `Buffer` (some of src/ uses
// Node's Buffer for hex): the `buffer` package, the browser implementation of Node's Buffer.
export { Buffer } from "buffer";
