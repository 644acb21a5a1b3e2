#!/usr/bin/env node
// Installs what the test suite needs besides node_modules: fastavro, the second Avro implementation that the
// cross-language vector test decodes the golden vectors with. Kafka and Temporal are installed by the harness.
// Runs after `tsc --build`, so it can use the harness's Python lookup.
import harness from '../packages/test-harness/dist/index.js';

try {
  const python = harness.ensurePythonModule('fastavro', 'fastavro>=1.9,<2');
  console.log(`[test-prerequisites] fastavro available to ${python}`);
} catch (err) {
  console.error(`[test-prerequisites] ${err.message}`);
  process.exit(1);
}
