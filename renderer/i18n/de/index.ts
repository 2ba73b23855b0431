import account from './account.ts';
import challenge from './challenge.ts';
import common from './common.ts';
import errors from './errors.ts';
import login from './login.ts';
import shell from './shell.ts';

export const de = { common, shell, login, challenge, account, errors };
