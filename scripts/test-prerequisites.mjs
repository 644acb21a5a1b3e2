#!/usr/bin/env node
// Installs what the test suite needs besides node_modules (Kafka and Temporal are installed by the harness):
// - fastavro, the second Avro implementation that the cross-language vector test decodes the golden vectors with;
// - the Python responder's venv (confluent-kafka, fastavro) under the harness cache;
// - the Java responder's jar (Maven; dependencies into ~/.m2), rebuilt only when its sources or schemas changed.
// Runs after `tsc --build`, so it can use the harness's helpers. The example tests call the same helpers, which
// return at once when this already ran.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import harness from '../packages/test-harness/dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

try {
  const python = harness.ensurePythonModule('fastavro', 'fastavro>=1.9,<2');
  console.log(`[test-prerequisites] fastavro available to ${python}`);
  const venvPython = await harness.ensurePythonVenv(
    'python-responder',
    path.join(root, 'examples/python-responder/requirements.txt'),
  );
  console.log(`[test-prerequisites] Python responder environment: ${venvPython}`);
  const jar = await harness.ensureMavenJar(path.join(root, 'examples/java-responder'), 'target/java-responder.jar', [
    'pom.xml',
    'src',
    '../../schemas/*.avsc',
  ]);
  console.log(`[test-prerequisites] Java responder: ${jar}`);
} catch (err) {
  console.error(`[test-prerequisites] ${err.message}`);
  process.exit(1);
}
