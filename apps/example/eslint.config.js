import chatConfig from '@chat/eslint-config';

export default chatConfig(import.meta.dirname);
