/** Who is calling: the token's `sub` (stored as `users.username`) and its optional email claim. */
export interface Identity {
  username: string;
  email: string | null;
}
