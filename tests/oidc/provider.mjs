// A real OpenID Provider for remediator's sign-in tests: panva's certified oidc-provider
// (https://github.com/panva/node-oidc-provider), its development login form (any login,
// any password), one RSA signing key made at start (a restart with another KEY_ID is a key
// rotation), and the people of ACCOUNTS with their groups. Configured by one JSON document
// in OIDC_TEST_CONFIG: {issuer, port, key_id, clients: [...], accounts: {login: [groups]}}.
// POST /test-control {"token_clock_skew": seconds} makes the token endpoint issue tokens
// as a provider whose clock is that far off would (an expired ID token, for one).
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = { ...privateKey.export({ format: 'jwk' }), kid: config.key_id, use: 'sig', alg: 'RS256' };
let tokenClockSkew = 0;

const provider = new Provider(config.issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: { keys: [key] },
  cookies: { keys: [`cookie-key-${config.key_id}`] },
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
  conformIdTokenClaims: false, // the groups go in the ID token, as Okta, Keycloak and Azure AD can
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          name: id,
          preferred_username: id,
          email: `${id}@example.test`,
          groups: config.accounts[id] ?? [],
        };
      },
    };
  },
});
provider.proxy = true;

provider.use(async (ctx, next) => {
  if (ctx.path === '/test-control' && ctx.method === 'POST') {
    let body = '';
    for await (const chunk of ctx.req) body += chunk;
    tokenClockSkew = JSON.parse(body).token_clock_skew ?? 0;
    ctx.body = { token_clock_skew: tokenClockSkew };
    return;
  }
  if (ctx.path === '/token' && tokenClockSkew) {
    const realNow = Date.now;
    Date.now = () => realNow() + tokenClockSkew * 1000;
    try {
      await next();
    } finally {
      Date.now = realNow;
    }
    return;
  }
  await next();
});

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on 127.0.0.1:${config.port} as ${config.issuer}`);
});
