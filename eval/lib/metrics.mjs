// The evaluation's metrics, pure functions of sets: safety (F_dyn ⊆ requirement), recall and precision of
// a method's accepted instance types against the oracle-compatible ones, and call-site traceability.

/** Features of the oracle (effective: ∩ source, baseline removed) that `required` lacks. */
export function safetyGaps(oracleRequired, required) {
  const have = new Set(required);
  return oracleRequired.filter((f) => !have.has(f));
}

/**
 * Recall and precision of `accepted` (type names a method accepts) against `oracleCompatible` (types whose
 * features include F_dyn ∩ source). Recall = |accepted ∩ oracle| / |oracle|; precision = |accepted ∩
 * oracle| / |accepted| (1 when nothing is accepted: no unsafe verdict was given).
 */
export function recallPrecision(accepted, oracleCompatible) {
  const oracle = new Set(oracleCompatible);
  const both = accepted.filter((n) => oracle.has(n)).length;
  return {
    accepted: accepted.length,
    oracle: oracle.size,
    both,
    recall: oracle.size === 0 ? 1 : both / oracle.size,
    precision: accepted.length === 0 ? 1 : both / accepted.length,
    unsafe: accepted.filter((n) => !oracle.has(n)),
  };
}

/** Traceable / untraceable call sites of an EPT run (paper Table II). */
export function callSiteShare(callSites) {
  const traceable = callSites.direct + callSites.plt + callSites.memorySlot + callSites.dispatchTable;
  const total = traceable + callSites.unresolved;
  return { traceable, untraceable: callSites.unresolved, total, untraceableShare: total === 0 ? 0 : callSites.unresolved / total };
}
