import { ProxiedSignInPage } from '@backstage/core-components';
import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';

/**
 * Signs everyone in as the guest user (auth.providers.guest in app-config.yaml), without a
 * click: the auth backend's guest provider issues the Backstage token, as
 * `user:default/guest`. Replace with a SignInPage for a real provider in production.
 */
const guestSignInPage = SignInPageBlueprint.make({
  params: {
    loader: async () => props => (
      <ProxiedSignInPage {...props} provider="guest" />
    ),
  },
});

export const signInModule = createFrontendModule({
  pluginId: 'app',
  extensions: [guestSignInPage],
});
