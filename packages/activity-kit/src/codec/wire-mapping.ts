import type { Type } from 'avsc';
import { types } from 'avsc';

import { InvalidRecordError } from '../errors';
import type { ActivityTaskResponse, Outcome } from './wire-types';

// Most records already have their TypeScript shape as avsc reads them (Date through the logical type,
// `["null", T]` unwrapped). Only the response's outcome differs: avsc wraps a union of records as
// `{ "<full record name>": record }`, while the TypeScript shape is tagged with `kind`; and since contract
// version 3 Heartbeat and Canceled name their details field after the branch (heartbeatDetails,
// cancellationDetails) so that a library picking a branch by fields cannot confuse them, while the TypeScript
// shape keeps `details`: a field's first alias, when it has one, is its TypeScript name.

type OutcomeKind = Outcome['kind'];
const OUTCOME_KINDS: readonly OutcomeKind[] = ['completed', 'failed', 'heartbeat', 'canceled'];

/** Converts a response between its avsc value and its TypeScript shape. Built once per reader type. */
export interface ResponseMapping {
  fromAvro(value: AvroResponse): ActivityTaskResponse;
  toAvro(value: ActivityTaskResponse): AvroResponse;
}

/** An ActivityTaskResponse as avsc reads and writes it. */
export interface AvroResponse extends Omit<ActivityTaskResponse, 'outcome'> {
  outcome: Record<string, Record<string, unknown>>;
}

/**
 * Finds the outcome union in the response reader type and pairs each branch's full name with its `kind`
 * (the record's short name in lower case: Completed → 'completed').
 */
export function createResponseMapping(responseType: Type): ResponseMapping {
  if (!(responseType instanceof types.RecordType)) {
    throw new TypeError('ActivityTaskResponse schema is not a record');
  }
  const outcomeType = responseType.field('outcome')?.type;
  if (!(outcomeType instanceof types.WrappedUnionType)) {
    throw new TypeError('ActivityTaskResponse.outcome is not a union of records');
  }
  const kindByBranch = new Map<string, OutcomeKind>();
  const branchByKind = new Map<string, string>();
  // [avro name, TypeScript name] of the fields whose names differ, per branch full name.
  const renamesByBranch = new Map<string, Array<[string, string]>>();
  for (const branch of outcomeType.types) {
    const fullName = branch.branchName ?? '';
    const kind = fullName.slice(fullName.lastIndexOf('.') + 1).toLowerCase() as OutcomeKind;
    if (OUTCOME_KINDS.includes(kind)) {
      kindByBranch.set(fullName, kind);
      branchByKind.set(kind, fullName);
      const fields = branch instanceof types.RecordType ? branch.fields : [];
      renamesByBranch.set(
        fullName,
        fields.flatMap((field) => {
          const tsName = field.aliases[0];
          return tsName === undefined || tsName === field.name ? [] : [[field.name, tsName] as [string, string]];
        }),
      );
    }
  }

  return {
    fromAvro(value) {
      const wrapped = value.outcome;
      const branch = Object.keys(wrapped)[0] ?? '';
      const kind = kindByBranch.get(branch);
      if (kind === undefined) {
        if (branch.endsWith('UnnamedOutcome')) {
          throw new InvalidRecordError(
            'decode',
            'ActivityTaskResponse',
            'outcome',
            'the responder wrote the UnnamedOutcome branch: its Avro library picked the union branch from the fields ' +
              'of a map that has none of result, message, heartbeatDetails or cancellationDetails; name the branch ' +
              '(schemas/README.md, "Writing the outcome union")',
          );
        }
        // A reader schema with an extra outcome record (a newer contract) can produce one this version does not
        // model; refusing it beats passing an untyped object to code that switches on kind.
        throw new InvalidRecordError('decode', 'ActivityTaskResponse', 'outcome', `outcome ${branch} has no kind`);
      }
      // Spread copies the branch record's own fields; with omitRecordMethods the record has no others.
      const fields: Record<string, unknown> = { ...wrapped[branch] };
      for (const [avroName, tsName] of renamesByBranch.get(branch) ?? []) {
        fields[tsName] = fields[avroName];
        delete fields[avroName];
      }
      const outcome = { kind, ...fields } as Outcome;
      return {
        requestId: value.requestId,
        taskToken: value.taskToken,
        activityRef: value.activityRef,
        outcome,
        respondedTime: value.respondedTime,
      };
    },

    toAvro(value) {
      const outcome = value?.outcome as Partial<Outcome> | undefined;
      const branch = branchByKind.get(String(outcome?.kind));
      if (outcome === undefined || branch === undefined) {
        throw new InvalidRecordError(
          'encode',
          'ActivityTaskResponse',
          'outcome.kind',
          `outcome kind ${JSON.stringify(outcome?.kind)} is not one of ${[...branchByKind.keys()].join(', ')}`,
        );
      }
      // The branch record writer reads only its declared fields, so the tagged object itself can be written.
      const renames = renamesByBranch.get(branch) ?? [];
      if (renames.length === 0) return { ...value, outcome: { [branch]: outcome as Record<string, unknown> } };
      const fields: Record<string, unknown> = { ...(outcome as Record<string, unknown>) };
      for (const [avroName, tsName] of renames) fields[avroName] = fields[tsName];
      return { ...value, outcome: { [branch]: fields } };
    },
  };
}
