import { Conversation } from './conversation.js';
import { Message } from './message.js';
import { User } from './user.js';

export { User, type IUser } from './user.js';
export { Conversation, type IConversation } from './conversation.js';
export { Message, MESSAGE_ROLES, type IMessage, type MessageRole } from './message.js';

/** The explicit entity list: no folder scanning, no decorators. */
export const entities = [User, Conversation, Message];
