export { evaluatePlan, evaluateNodePlan, planNodeIds, resultIsNoOp } from './evaluate.js';
export type { NodeVerdict, PlanEvaluation } from './evaluate.js';
export { PlanApplier } from './applier.js';
export type { PlanApplierDeps, PlanApplierStats } from './applier.js';
export { planResultCommand } from './command.js';
