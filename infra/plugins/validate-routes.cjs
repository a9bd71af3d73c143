'use strict';
/**
 * Fails `osls package`, `osls deploy` and `osls offline` when
 * config/routes.json is invalid, with the same message the functions would
 * give at cold start (the schema is the TypeScript one, loaded through tsx).
 * Warns about form routes anyone can post to when the stage will refuse them
 * (the allowOpenFormRoutes param, false on every stage but local).
 */
const path = require('node:path');
const fs = require('node:fs');

class ValidateRoutesPlugin {
  constructor(serverless, options, utils) {
    this.serverless = serverless;
    this.log = utils?.log;
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
    const routesModule = path.join(root, 'shared', 'config', 'routes.ts');
    const { parseRoutesConfig, openFormRoutes } = await tsImport(routesModule, __filename);
    let config;
    try {
      config = parseRoutesConfig(raw);
    } catch (error) {
      throw new this.serverless.classes.Error(error.message);
    }
    const forms = this.serverless.service.functions?.forms;
    const open = openFormRoutes(config);
    if (open.length > 0 && forms?.environment?.ALLOW_OPEN_FORM_ROUTES !== 'true') {
      this.log?.warning(
        `config/routes.json: ${open.join(', ')} ${open.length === 1 ? 'is' : 'are'} open to anyone and will ` +
          'answer 403 route_not_protected on this stage: add protection.captcha, or auth "token" or "hmac" ' +
          '(README: plain HTML forms)',
      );
    }
  }
}

module.exports = ValidateRoutesPlugin;
