import { z } from 'zod';
import type { ApprovalView, Evidence, RuleKindDefinition } from '../rule-kind';
import { sanctionsListsFor, type SanctionsLists } from '../sanctions';

/**
 * `sanctioned-destination`: the destination, compared as its chain compares addresses, is on a sanctions
 * list (every list is checked: one address can be listed under another asset). Reads no facts.
 */
const params = z.strictObject({
  /** Folder of sanctioned_addresses_<TICKER>.txt; relative paths resolve against the config file. */
  listsDir: z
    .string({ error: 'expected a directory path' })
    .min(1, { error: 'expected a directory path' })
    .optional(),
});
type Params = z.output<typeof params>;

export function onSanctionsList(approval: ApprovalView, lists: SanctionsLists): Evidence | null {
  const matched = lists.matchesNormalised(approval.address);
  if (matched.length === 0) return null;
  return { address: approval.event.address, normalisedAddress: approval.address, lists: matched };
}

export const sanctionedDestination: RuleKindDefinition<Params, { listsDir: string }> = {
  severity: 'critical',
  params,
  reads: () => ({}),
  compile: (rule) => {
    const lists = sanctionsListsFor(rule.params.listsDir, `${rule.id}.params.listsDir`);
    return {
      id: rule.id,
      severity: rule.severity,
      atApproval: (approval) => onSanctionsList(approval, lists),
    };
  },
};
