import * as fs from 'node:fs';
import * as path from 'node:path';

import * as schemas from '@temporal-kafka-bridge/schemas';

import type { AvroSchemaJson } from './schema-fingerprint';
import type { WireRecordName } from './wire-types';

/** The record names of the contract, in a fixed order. */
export const WIRE_RECORD_NAMES: readonly WireRecordName[] = [
  'ActivityTaskRequest',
  'ActivityTaskResponse',
  'ActivityCancelNotice',
];

/** The current schemas of the contract (schemas/*.avsc). */
export function currentSchemas(): Record<WireRecordName, AvroSchemaJson> {
  return {
    ActivityTaskRequest: schemas.ActivityTaskRequest,
    ActivityTaskResponse: schemas.ActivityTaskResponse,
    ActivityCancelNotice: schemas.ActivityCancelNotice,
  };
}

/**
 * Every released version of the contract, frozen beside its golden vectors in `schemas/vectors/v<N>/`. The
 * codec reads records written with any of them, so producers can upgrade after the bridge does.
 */
export function frozenSchemas(): AvroSchemaJson[] {
  const vectorsDir = path.join(schemas.schemasDir, 'vectors');
  let versions: string[];
  try {
    versions = fs.readdirSync(vectorsDir).filter((entry) => /^v\d+$/.test(entry));
  } catch {
    return []; // an installation without vectors still reads the current schemas
  }
  const found: AvroSchemaJson[] = [];
  for (const version of versions) {
    for (const name of WIRE_RECORD_NAMES) {
      const file = path.join(vectorsDir, version, `${name}.avsc`);
      if (fs.existsSync(file)) found.push(JSON.parse(fs.readFileSync(file, 'utf8')) as AvroSchemaJson);
    }
  }
  return found;
}
