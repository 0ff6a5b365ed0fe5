// `CHAT_URL=http://127.0.0.1:3000/trpc CHAT_TOKEN=$(pnpm -s token ann) node apps/example/dist/main.js`
import { connect, converse } from './demo.js';

const url = process.env.CHAT_URL ?? 'http://127.0.0.1:3000/trpc';
const token = process.env.CHAT_TOKEN;
if (!token) {
  process.stderr.write('set CHAT_TOKEN (pnpm -s token <username>)\n');
  process.exit(1);
}
const { conversation, history } = await converse(connect(url, token), 'Example', [
  'Hello!',
  'How are you?',
]);
process.stdout.write(`conversation ${conversation.id}:\n`);
for (const message of history) process.stdout.write(`  [${message.role}] ${message.content}\n`);
