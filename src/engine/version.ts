/** ftpship's version, as package.json has it (a test keeps the two equal): the hook's User-Agent says it. */
export const VERSION = '0.1.0';
