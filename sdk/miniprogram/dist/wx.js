"use strict";
/**
 * The part of the mini program's `wx` that the SDK uses, declared here so
 * that the published types stand alone: a TypeScript project needs neither
 * miniprogram-api-typings nor any other package to compile against them.
 * The real `wx` satisfies {@link WxLike} (the SDK's own build checks it
 * against miniprogram-api-typings), and so does the simulated wx.
 */
Object.defineProperty(exports, "__esModule", { value: true });
