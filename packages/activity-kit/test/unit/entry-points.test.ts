import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const packageDir = path.resolve(__dirname, '../..');

/** Loads `specifier` (resolved through the package's exports map) in a fresh Node process and reports on it. */
function load(specifier: string): { exports: string[]; loaded: string[] } {
  const script = `
    const entry = require(${JSON.stringify(specifier)});
    const loaded = Object.keys(require.cache).filter((file) => file.includes('@temporalio'));
    process.stdout.write(JSON.stringify({ exports: Object.keys(entry).sort(), loaded }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: packageDir, encoding: 'utf8' })) as {
    exports: string[];
    loaded: string[];
  };
}

describe('the entry points of activity-kit', () => {
  it('gives a reply-only service its own entry that does not load the Temporal activity or worker SDK', () => {
    const responder = load('@temporal-kafka-bridge/activity-kit/responder');
    expect(responder.exports).toEqual(
      expect.arrayContaining(['TaskResponder', 'ReplyPublisher', 'createWireCodec', 'toWirePayload', 'activityRefOf']),
    );
    expect(responder.exports).not.toContain('KafkaActivityKit');
    expect(responder.loaded.filter((file) => /@temporalio[\\/](activity|worker)[\\/]/.test(file))).toEqual([]);
  });

  it('keeps the root entry for activities, with the responder API beside it', () => {
    const root = load('@temporal-kafka-bridge/activity-kit');
    expect(root.exports).toEqual(expect.arrayContaining(['KafkaActivityKit', 'TaskResponder', 'RequestPublishError']));
  });

  it('exports only what users call: helpers for the bridge and the tests live in the internal entry', () => {
    const internals = [
      'attemptDeadline',
      'buildActivityTaskRequest',
      'compileActivityKitOptions',
      'crc64Avro',
      'parsingCanonicalForm',
      'createKafkaClient',
      'SINGLE_OBJECT_MAGIC',
      'SINGLE_OBJECT_HEADER_LENGTH',
      'OffsetTracker',
      'RecordHeaders',
      'sealTaskToken',
      'openSealedHandle',
    ];
    const root = load('@temporal-kafka-bridge/activity-kit');
    expect(root.exports.filter((name) => internals.includes(name))).toEqual([]);
    expect(load('@temporal-kafka-bridge/activity-kit/internal').exports).toEqual(expect.arrayContaining(internals));
  });
});
