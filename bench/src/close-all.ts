/**
 * Awaits every closing step even when some fail, so one failed close does not leave the others open; then
 * rethrows the first failure.
 */
export async function closeAll(steps: Array<Promise<unknown> | undefined>): Promise<void> {
  const results = await Promise.allSettled(steps);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}
