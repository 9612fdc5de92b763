// SPDX-License-Identifier: Apache-2.0
/* An ES module handler, for tests/integ/21-lambda-host.sh. */
export const handler = async (event) => ({ style: 'esm', echo: event });
