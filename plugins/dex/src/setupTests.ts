import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// waitFor and findBy* wait up to 10 s, not 1 s: in `npm test` these files share the cores with
// the cluster suites, and a first render of Backstage UI's Select took over a second there.
configure({ asyncUtilTimeout: 10_000 });
