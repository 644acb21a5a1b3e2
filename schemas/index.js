'use strict';
// The .avsc files are the contract; this only loads them for JavaScript users.
const fs = require('node:fs');
const path = require('node:path');

const names = ['ActivityTaskRequest', 'ActivityTaskResponse', 'ActivityCancelNotice'];

/** Folder holding the .avsc files and golden vectors. */
exports.schemasDir = __dirname;
exports.schemaNames = names;
for (const name of names) {
  exports[name] = JSON.parse(fs.readFileSync(path.join(__dirname, `${name}.avsc`), 'utf8'));
}
