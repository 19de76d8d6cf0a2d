/**
 * Members of the engine-wide index ZSETs. JSON arrays, because ids may hold any character: a separator
 * could be forged by an id, a JSON array cannot.
 */

/** A pending decision in the pending index: which user to visit, which approval, which withdrawal. */
export interface PendingRef {
  userId: string;
  eventId: string;
  withdrawalId: string;
}

export function pendingMember(ref: PendingRef): string {
  return JSON.stringify([ref.userId, ref.eventId, ref.withdrawalId]);
}

/** The ref of a pending-index member, or null when it is not one (it is then dropped). */
export function parsePendingMember(member: string): PendingRef | null {
  try {
    const v: unknown = JSON.parse(member);
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string')) {
      return { userId: v[0] as string, eventId: v[1] as string, withdrawalId: v[2] as string };
    }
  } catch {
    // fall through
  }
  return null;
}

/** An unacked flag in the unacked index. */
export interface UnackedRef {
  userId: string;
  flagId: string;
}

export function unackedMember(ref: UnackedRef): string {
  return JSON.stringify([ref.userId, ref.flagId]);
}

export function parseUnackedMember(member: string): UnackedRef | null {
  try {
    const v: unknown = JSON.parse(member);
    if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'string')) {
      return { userId: v[0] as string, flagId: v[1] as string };
    }
  } catch {
    // fall through
  }
  return null;
}
