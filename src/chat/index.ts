// Public API of the encrypted chat (runtime-neutral; the relay server is ./relay, Node only).
export * from "./errors";
export * from "./format";
export { RelayClient } from "./client";
export {
  ChatRoom,
  memberIdentity,
  ownerIdentity,
  roomLabel,
  type ChatIdentity,
  type ChatMessage,
  type RejectedEntry,
  type RoomOptions,
} from "./room";
export {
  createRoom,
  DEFAULT_EPOCH_SECONDS,
  inviteMember,
  removeMember,
  roomGrantKeys,
  type InviteRequest,
} from "./owner";
