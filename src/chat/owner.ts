// The room's owner: creates a room (its key is one of his Alice policy keys, labelled by the room id),
// invites a member (a policy from the room key to the member's key, granted and paid as any other: Alice's
// grant, ../client/alice) and removes one (revokes that policy on chain, then publishes the membership
// without him: every later epoch is made under the new state, and the nodes refuse to re-encrypt it for him).
// No re-keying: the room key never changes. Runtime-neutral.
import type { Signer as EthSigner } from "ethers";
import type { PolicyManager } from "../../typechain-types";
import { grant, type GrantContracts, type GrantRequest } from "../client/alice";
import { AliceKeys } from "../client/keys";
import type { PolicyGrant } from "../client/grant";
import type { PublicKey } from "../umbral";
import { readPolicy, revokePolicy } from "../policy";
import { ChatError, NotAMemberError } from "./errors";
import { keyHex, newRoomId, signEntry, type RoomRef, type RoomState } from "./format";
import { RelayClient } from "./client";
import { roomLabel } from "./room";

/** Default epoch length: see docs/chat.md ("one capsule per epoch", measured). */
export const DEFAULT_EPOCH_SECONDS = 600;

/**
 * The owner's keys as a grant sees them for this room: every policy's delegating key is the room key (the
 * policy id still seeds each member's kfrag set, so shares of different members never combine).
 */
export function roomGrantKeys(keys: AliceKeys, roomId: string): AliceKeys {
  const roomSk = keys.delegatingKey(roomLabel(roomId));
  const scoped = Object.create(keys) as AliceKeys;
  Object.defineProperty(scoped, "delegatingKey", { value: () => roomSk });
  return scoped;
}

/** Signs and publishes the next room state (`change` applied to the current one). */
async function publishState(
  relay: RelayClient,
  keys: AliceKeys,
  roomId: string,
  change: (state: RoomState) => Omit<RoomState, "signature" | "seq" | "issuedAt" | "type" | "roomId">,
): Promise<RoomState> {
  const { state } = await relay.room(roomId);
  const owner = keyHex(keys.signer().verifyingKey());
  if (state.owner.toLowerCase() !== owner.toLowerCase()) {
    throw new ChatError(`room ${roomId} is owned by ${state.owner}, not by this key (${owner})`);
  }
  const next = signEntry<RoomState>(
    { ...change(state), type: "state", roomId, seq: state.seq + 1, issuedAt: Date.now() },
    keys.signer(),
  );
  await relay.post(roomId, next);
  return next;
}

/** Creates a room on `relayUrl`; resolves with what members need to find and trust it. */
export async function createRoom(
  relayUrl: string,
  keys: AliceKeys,
  options: { name: string; epochSeconds?: number },
): Promise<RoomRef> {
  const relay = new RelayClient(relayUrl);
  const roomId = newRoomId();
  const owner = keyHex(keys.signer().verifyingKey());
  const state = signEntry<RoomState>(
    {
      type: "state",
      roomId,
      seq: 0,
      name: options.name,
      roomKey: keyHex(keys.delegatingKey(roomLabel(roomId)).publicKey()),
      owner,
      epochSeconds: options.epochSeconds ?? DEFAULT_EPOCH_SECONDS,
      members: [],
      issuedAt: Date.now(),
    },
    keys.signer(),
  );
  await relay.createRoom(state);
  return { kind: "umbral-kms/chat-room", relay: relay.url, roomId, owner, name: options.name };
}

export interface InviteRequest extends Omit<GrantRequest, "keys" | "receivingKey" | "policyId"> {
  member: PublicKey;
  name: string;
}

/** Grants `member` a policy from the room key (paid by `owner`) and adds him to the room's state. */
export async function inviteMember(
  contracts: GrantContracts,
  ref: Pick<RoomRef, "relay" | "roomId">,
  keys: AliceKeys,
  request: InviteRequest,
): Promise<{ grant: PolicyGrant; state: RoomState }> {
  const relay = new RelayClient(ref.relay);
  const key = keyHex(request.member);
  const { state } = await relay.room(ref.roomId);
  if (state.members.some((m) => m.key.toLowerCase() === key.toLowerCase())) {
    throw new ChatError(`${key} is already a member of room ${ref.roomId}`);
  }
  if (state.owner.toLowerCase() !== keyHex(keys.signer().verifyingKey()).toLowerCase()) {
    throw new ChatError(`room ${ref.roomId} is owned by ${state.owner}, not by this key`);
  }
  const granted = await grant(contracts, {
    ...request,
    keys: roomGrantKeys(keys, ref.roomId),
    receivingKey: request.member,
  });
  const next = await publishState(relay, keys, ref.roomId, (s) => ({
    ...s,
    members: [...s.members, { key, name: request.name, grant: granted }],
  }));
  return { grant: granted, state: next };
}

/**
 * Removes `member`: revokes his policy on chain (unless it is revoked already or in its last period, when it
 * can no longer be revoked and ends at the period's close: `revoked` is false then), then publishes the state
 * without him. Resolves with the refund and the new state.
 */
export async function removeMember(
  policyManager: PolicyManager,
  owner: EthSigner,
  ref: Pick<RoomRef, "relay" | "roomId">,
  keys: AliceKeys,
  member: PublicKey,
): Promise<{ revoked: boolean; refund: bigint; state: RoomState }> {
  const relay = new RelayClient(ref.relay);
  const key = keyHex(member).toLowerCase();
  const { state } = await relay.room(ref.roomId);
  const found = state.members.find((m) => m.key.toLowerCase() === key);
  if (!found) throw new NotAMemberError(`${keyHex(member)} is not a member of room ${ref.roomId}`);
  const { record, revoked } = await readPolicy(policyManager, found.grant.policyId);
  let refund = 0n;
  // As `kms revoke`: a policy in its last period can no longer be revoked (it ends at the period's close).
  const revocable = !revoked && record.endPeriod > (await policyManager.getCurrentPeriod()) + 1n;
  if (revocable) refund = await revokePolicy(policyManager, owner, found.grant.policyId);
  const next = await publishState(relay, keys, ref.roomId, (s) => ({
    ...s,
    members: s.members.filter((m) => m.key.toLowerCase() !== key),
  }));
  return { revoked: revocable, refund, state: next };
}
