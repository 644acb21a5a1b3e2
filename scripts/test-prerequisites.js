#!/usr/bin/env node
'use strict';
// Installs what the test suite needs besides node_modules: fastavro, the second Avro implementation that the
// cross-language vector test decodes the golden vectors with. Kafka and Temporal are installed by the harness.
const { spawnSync } = require('node:child_process');

const python = process.env.PYTHON || 'python3';
const probe = spawnSync(python, ['-c', 'import fastavro'], { stdio: 'ignore' });
if (probe.status !== 0) {
  console.log(`[test-prerequisites] installing fastavro for ${python}`);
  const install = spawnSync(
    python,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', 'fastavro>=1.9,<2'],
    { stdio: 'inherit' },
  );
  if (install.status !== 0) {
    console.error('[test-prerequisites] could not install fastavro with pip; the cross-language tests will fail');
    process.exit(1);
  }
}
