/** The namespace id the null frontend reports for any namespace; the ceiling bench's task tokens name it. */
export const NULL_NAMESPACE_ID = '00000000-0000-4000-8000-00000000c0de';

/** What the null frontend counted since its last reset. */
export interface FrontendStats {
  /** Calls per WorkflowService method. */
  calls: Record<string, number>;
  /** Distinct task tokens (or by-id addresses) delivered by a Respond* call. */
  distinct: number;
  /** Respond* calls whose token had already been delivered. */
  duplicates: number;
}

/** Asked of the null frontend over IPC; it answers `{ stats }` or `{ reset: true }`. */
export type FrontendMessage = { stats: true } | { reset: true };
