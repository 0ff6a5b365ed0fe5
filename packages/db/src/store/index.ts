export {
  ConflictError,
  NotFoundError,
  SendQueueFullError,
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
  conversationPageStatement,
  type ConversationPageQuery,
  type PageStatement,
  notFound,
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
export {
  createSendQueue,
  SEND_MESSAGES_SQL,
  SEND_ONE_SQL,
  type SendQueue,
  type SendQueueOptions,
  type SendQueueStats,
  type SentRow,
} from './send-queue.js';
