// The chat's errors: one base class, one subclass per cause, each message a sentence a member understands.
// Runtime-neutral (Node and browsers).

/** Base class of every chat error. */
export class ChatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A message, room state or epoch that is malformed, too large or wrongly signed. */
export class ChatFormatError extends ChatError {}

/** A message too long to send. */
export class MessageTooLargeError extends ChatError {
  constructor(
    readonly bytes: number,
    readonly max: number,
  ) {
    super(`the message is ${bytes} bytes of UTF-8, more than the ${max} a chat message may hold`);
  }
}

/** An entry whose signature is not its named author's, or whose author is not a member: never shown. */
export class ForgedEntryError extends ChatError {}

/** The relay refused a request (or answered with something that is not the relay protocol). */
export class RelayRefusedError extends ChatError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The relay could not be reached. */
export class RelayUnreachableError extends ChatError {}

/**
 * The nodes would not re-encrypt an epoch's capsule for this member: his policy was revoked (he was removed)
 * or has ended, or too few of its nodes answered.
 */
export class ChatEpochRefusedError extends ChatError {
  constructor(
    readonly roomId: string,
    readonly epochId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot open epoch ${epochId} of room ${roomId}: ${reason}`, options);
  }
}

/** The key used is not a member of the room (never invited, or removed). */
export class NotAMemberError extends ChatError {}
