'use strict';
/**
 * Fails `osls package`, `osls deploy` and `osls offline` when
 * config/routes.json is invalid, with the same message the functions would
 * give at cold start (the schema is the TypeScript one, loaded through tsx).
 */
const path = require('node:path');
const fs = require('node:fs');

class ValidateRoutesPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    const validate = () => this.validate();
    this.hooks = {
      'before:package:initialize': validate,
      'before:offline:start:init': validate,
      'before:offline:start': validate,
    };
  }

  async validate() {
    const root = this.serverless.serviceDir || this.serverless.config.servicePath;
    const file = path.join(root, 'config', 'routes.json');
    let raw;
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      throw new this.serverless.classes.Error(`invalid route config config/routes.json: ${error.message}`);
    }
    const { tsImport } = await import('tsx/esm/api');
    const { parseRoutesConfig } = await tsImport(path.join(root, 'shared', 'config', 'routes.ts'), __filename);
    try {
      parseRoutesConfig(raw);
    } catch (error) {
      throw new this.serverless.classes.Error(error.message);
    }
  }
}

module.exports = ValidateRoutesPlugin;
