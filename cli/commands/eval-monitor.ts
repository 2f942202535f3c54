/**
 * Follow one evaluation to its end, as Nomad's `monitor`: blocking queries on the evaluation
 * (and its job's allocations), one line per change, and on a placement failure the reasons
 * kept on the evaluation. Used by `job run` and `job stop`.
 */
import type { ApiClient } from '../../agent/api/index.js';
import type { Evaluation } from '../../agent/core/structs/index.js';
import { evalTerminal } from '../../agent/core/structs/index.js';
import type { Out } from './jobspec-io.js';
import { Exit, formatFailedGroups, shortId } from './api-io.js';

/** How long one blocking query waits before asking again. */
const WaitMs = 5_000;

/** Returns 0 when the evaluation completed and placed everything, 2 on a placement failure, 1 if it failed. */
export async function monitorEval(client: ApiClient, evalId: string, namespace: string, out: Out): Promise<number> {
  out.stdout(`==> Monitoring evaluation "${shortId(evalId)}"\n`);
  const seenAllocs = new Set<string>();
  // A new evaluation is pending; every change from there is reported.
  let status = 'pending';
  let first = true;
  let index = 0;
  let ev: Evaluation;
  for (;;) {
    const r = await client.getEval(evalId, { index, waitMs: WaitMs });
    ev = r.value;
    if (first) {
      first = false;
      out.stdout(ev.nodeId !== '' ? `    Evaluation triggered by node "${shortId(ev.nodeId)}"\n` : `    Evaluation triggered by job "${ev.jobId}"\n`);
    }
    // Allocations of this evaluation, as they appear (the plan lands before the eval completes).
    const allocs = await client.listAllocs({ jobId: ev.jobId }, { namespace });
    for (const a of allocs.value) {
      if (a.evalId !== evalId || seenAllocs.has(a.id)) continue;
      seenAllocs.add(a.id);
      // An allocation older than the evaluation was updated in place by it.
      const verb = a.createIndex >= ev.createIndex ? 'created' : 'modified';
      out.stdout(`    Allocation "${shortId(a.id)}" ${verb}: node "${shortId(a.nodeId)}", group "${a.taskGroup}"\n`);
    }
    if (ev.status !== status) out.stdout(`    Evaluation status changed: "${status}" -> "${ev.status}"\n`);
    status = ev.status;
    if (evalTerminal(ev)) break;
    index = r.index;
  }
  const failed = Object.keys(ev.failedTgAllocs).length > 0;
  if (ev.status !== 'complete') {
    out.stdout(`==> Evaluation "${shortId(ev.id)}" finished with status "${ev.status}"${ev.statusDescription !== '' ? `: ${ev.statusDescription}` : ''}\n`);
    return failed ? Exit.placementFailed : Exit.error;
  }
  if (!failed) {
    out.stdout(`==> Evaluation "${shortId(ev.id)}" finished with status "complete"\n`);
    return Exit.ok;
  }
  out.stdout(`==> Evaluation "${shortId(ev.id)}" finished with status "complete" but failed to place all allocations:\n`);
  out.stdout(formatFailedGroups(ev.failedTgAllocs, '    '));
  if (ev.blockedEval !== '') out.stdout(`    Evaluation "${shortId(ev.blockedEval)}" waiting for additional capacity to place remainder\n`);
  return Exit.placementFailed;
}
