/** A person pinverify can verify: found by the numbers they call from, reached at email or mobile. */
export interface Contact {
  id: number;
  name: string;
  email: string | null;
  /** E.164 number that receives SMS, or null. */
  mobile: string | null;
}
