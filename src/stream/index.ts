// Streams: a publisher seals a file or a live input into segments with a capsule per epoch; subscribers play it
// with cfrags retrieved once per epoch (docs/streams.md). Runtime-neutral; Node-only parts are ./node and
// ./server.
export * from "./epoch";
export * from "./manifest";
export * from "./publisher";
export * from "./player";
export * from "./source";
