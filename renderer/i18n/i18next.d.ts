// Typed keys: `t('login:username')` and `useTranslation('account')` are checked against the English catalogues.
import 'i18next';
import type { en } from './en/index.ts';

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'common';
    resources: typeof en;
  }
}
