import { type ReactNode } from 'react';
import { Box } from '@backstage/ui';

/** A list without bullets or indent; its spacing comes from the theme. */
export function PlainList({ children }: { children: ReactNode }) {
  return (
    <Box as="ul" m="0" p="0" style={{ listStyle: 'none' }}>
      {children}
    </Box>
  );
}
