// Loaded by mocha before any test file: in-process loggers stay quiet unless LOG_LEVEL asks
// otherwise (processes the integration tests spawn set their own environment).
'use strict';
process.env.NODE_ENV = process.env.NODE_ENV || 'test';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
