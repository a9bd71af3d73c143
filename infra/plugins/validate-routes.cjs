'use strict';
/**
 * Fails `osls package`, `osls deploy` and `osls offline` when
 * config/routes.json is invalid, with the same message the functions would
 * give at cold start (the schema is the TypeScript one, loaded through tsx);
 * and when a provider, Shopify Admin or captcha URL override is set on a
 * stage other than local (see checkUrlOverrides).
 * Warns about form routes anyone can post to when the stage will refuse them
 * (the allowOpenFormRoutes param, false on every stage but local).
 */
const path = require('node:path');
const fs = require('node:fs');

class ValidateRoutesPlugin {
  constructor(serverless, _options, utils) {
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
    // Route secrets are checked against this stage's prefixes: its roles grant no other stage's.
    const stage = this.serverless.getProvider('aws').getStage();
    let config;
    try {
      config = parseRoutesConfig(raw, 'config/routes.json', stage);
    } catch (error) {
      throw new this.serverless.classes.Error(error.message);
    }
    await this.checkUrlOverrides(root, stage);
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

  /**
   * serverless.yml copies PROVIDER_URL_*, SHOPIFY_ADMIN_URL (and the stage's CAPTCHA_URL_* params)
   * into the functions' environment. Set on a deployed stage, one would send every key of that kind
   * to its host, so the functions refuse to start with it; packaging it is refused here first, naming
   * the variable. On the local stage (`osls offline`) the functions' own rule applies: https, or a
   * loopback address (shared/config/env.ts).
   */
  async checkUrlOverrides(root, stage) {
    const { tsImport } = await import('tsx/esm/api');
    const envModule = path.join(root, 'shared', 'config', 'env.ts');
    const { URL_OVERRIDES, LOCAL_STAGE, urlOverrideProblem } = await tsImport(envModule, __filename);
    const { provider, functions = {} } = this.serverless.service;
    const environments = [
      ['provider.environment', provider.environment],
      ...Object.entries(functions).map(([name, fn]) => [`functions.${name}.environment`, fn?.environment]),
    ];
    for (const [where, environment] of environments) {
      for (const variable of URL_OVERRIDES) {
        const value = environment?.[variable];
        if (typeof value !== 'string' || value === '') continue;
        const url = URL.parse(value);
        const problem =
          stage !== LOCAL_STAGE
            ? `is honoured on stage ${LOCAL_STAGE} only: the functions of stage ${stage} call the public APIs`
            : url === null
              ? 'must be an http(s) URL'
              : urlOverrideProblem(url, stage);
        if (problem !== undefined) {
          throw new this.serverless.classes.Error(`${variable} ${problem} (${where}): unset it`);
        }
      }
    }
  }
}

module.exports = ValidateRoutesPlugin;
