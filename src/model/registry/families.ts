// Every model family the studio knows, in the order it lists them. A new family is its file plus one line here.
import { DEEPLABV3_MOBILEVIT } from './deeplabv3-mobilevit.ts';
import { MOBILENETV2 } from './mobilenetv2.ts';
import { MOBILEVIT } from './mobilevit.ts';
import { SSDLITE_MOBILEVIT } from './ssdlite-mobilevit.ts';

export const FAMILIES = [MOBILEVIT, MOBILENETV2, DEEPLABV3_MOBILEVIT, SSDLITE_MOBILEVIT] as const;
