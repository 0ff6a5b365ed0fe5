// Entities to the contract's plain-JSON shapes (timestamps as ISO-8601 strings in UTC).
import type { IConversation, IMessage, IUser } from '@chat/db';
import type { Conversation, Message, User } from '@chat/contracts';

export const toUser = (user: IUser): User => ({
  id: user.id,
  username: user.username,
  email: user.email ?? null,
  createdAt: user.createdAt.toISOString(),
});

export const toConversation = (conversation: IConversation): Conversation => ({
  id: conversation.id,
  userId: conversation.userId,
  name: conversation.name ?? null,
  createdAt: conversation.createdAt.toISOString(),
});

export const toMessage = (message: IMessage): Message => ({
  id: message.id,
  conversationId: message.conversationId,
  role: message.role,
  content: message.content,
  createdAt: message.createdAt.toISOString(),
});
