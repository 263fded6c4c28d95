"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.isWxloginError = exports.WxloginError = exports.ClientErrorCodes = exports.runsInWeCom = exports.isAnonymousProfile = exports.createClient = exports.Client = exports.ANONYMOUS_NICKNAME = void 0;
/**
 * @wxlogin/miniprogram: the mini program client of wxlogin.
 *
 *   import { createClient } from '@wxlogin/miniprogram'
 *   const client = createClient({ baseURL: 'https://login.example.com' })
 *   const me = await client.request({ path: '/v1/session' })
 *
 * The simulated wx for tests lives in '@wxlogin/miniprogram/simulated-wx'.
 */
var client_1 = require("./client");
Object.defineProperty(exports, "ANONYMOUS_NICKNAME", { enumerable: true, get: function () { return client_1.ANONYMOUS_NICKNAME; } });
Object.defineProperty(exports, "Client", { enumerable: true, get: function () { return client_1.Client; } });
Object.defineProperty(exports, "createClient", { enumerable: true, get: function () { return client_1.createClient; } });
Object.defineProperty(exports, "isAnonymousProfile", { enumerable: true, get: function () { return client_1.isAnonymousProfile; } });
Object.defineProperty(exports, "runsInWeCom", { enumerable: true, get: function () { return client_1.runsInWeCom; } });
var errors_1 = require("./errors");
Object.defineProperty(exports, "ClientErrorCodes", { enumerable: true, get: function () { return errors_1.ClientErrorCodes; } });
Object.defineProperty(exports, "WxloginError", { enumerable: true, get: function () { return errors_1.WxloginError; } });
Object.defineProperty(exports, "isWxloginError", { enumerable: true, get: function () { return errors_1.isWxloginError; } });
