export * from './limits.js';
export * from './text.js';
export * from './dto.js';
export * from './inputs.js';
