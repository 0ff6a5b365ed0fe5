export {
  ConflictError,
  NotFoundError,
  classifyDatabaseError,
  type DatabaseFault,
} from './errors.js';
export type { Identity } from './identity.js';
export { ensureUser, findUser, updateEmail, deleteUser, type UserDeletion } from './users.js';
export {
  createConversation,
  getConversation,
  listConversations,
  renameConversation,
  deleteConversation,
  type Page,
} from './conversations.js';
export {
  sendMessage,
  listHistory,
  historyStatement,
  SEND_MESSAGE_SQL,
  type HistoryQuery,
} from './messages.js';
export { exportUser, type UserExport } from './export.js';
