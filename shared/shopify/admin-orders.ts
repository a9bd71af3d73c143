/**
 * GraphQL Admin API order nodes, what `reconcile` fetches (admin.ts), turned
 * into the REST/webhook order shape so `mapShopifyOrder` serves both.
 */
import * as z from '../zod.js';
import { ORDER_GID, text, type ShopifyAddress, type ShopifyOrder } from './orders.js';

const GraphqlAddressSchema = z.object({
  firstName: text,
  lastName: text,
  phone: text,
  countryCodeV2: text,
  address1: text,
  address2: text,
  city: text,
  province: text,
  zip: text,
});
type GraphqlAddress = z.infer<typeof GraphqlAddressSchema>;

const GraphqlConsentSchema = z.nullish(z.object({ marketingState: text }));

/** The order fields the reconcile query selects, as the GraphQL Admin API returns them. */
export const AdminOrderNodeSchema = z.object({
  id: z.string().check(z.regex(ORDER_GID, 'must be an order id such as "gid://shopify/Order/450789469"')),
  name: text,
  email: text,
  phone: text,
  createdAt: z.string(),
  totalPriceSet: z.nullish(
    z.object({ shopMoney: z.object({ amount: z.union([z.string(), z.number()]), currencyCode: z.string() }) }),
  ),
  customer: z.nullish(
    z.object({
      id: z.string(),
      firstName: text,
      lastName: text,
      email: text,
      phone: text,
      defaultAddress: z.nullish(GraphqlAddressSchema),
      emailMarketingConsent: GraphqlConsentSchema,
      smsMarketingConsent: GraphqlConsentSchema,
    }),
  ),
  billingAddress: z.nullish(GraphqlAddressSchema),
  shippingAddress: z.nullish(GraphqlAddressSchema),
});
export type AdminOrderNode = z.infer<typeof AdminOrderNodeSchema>;

function fromGraphqlAddress(address: GraphqlAddress | null | undefined): ShopifyAddress | null {
  if (address === null || address === undefined) return null;
  return {
    first_name: address.firstName,
    last_name: address.lastName,
    phone: address.phone,
    country_code: address.countryCodeV2,
    address1: address.address1,
    address2: address.address2,
    city: address.city,
    province: address.province,
    zip: address.zip,
  };
}

/** The REST/webhook shape of a GraphQL order node, so `mapShopifyOrder` serves both. */
export function fromAdminGraphqlOrder(node: AdminOrderNode): ShopifyOrder {
  const customer = node.customer ?? undefined;
  const money = node.totalPriceSet?.shopMoney;
  return {
    admin_graphql_api_id: node.id,
    name: node.name,
    email: node.email,
    phone: node.phone,
    created_at: node.createdAt,
    total_price: money === undefined ? null : String(money.amount),
    currency: money?.currencyCode ?? null,
    customer:
      customer === undefined
        ? null
        : {
            admin_graphql_api_id: customer.id,
            first_name: customer.firstName,
            last_name: customer.lastName,
            email: customer.email,
            phone: customer.phone,
            default_address: fromGraphqlAddress(customer.defaultAddress),
            email_marketing_consent: customer.emailMarketingConsent
              ? { state: customer.emailMarketingConsent.marketingState }
              : null,
            sms_marketing_consent: customer.smsMarketingConsent
              ? { state: customer.smsMarketingConsent.marketingState }
              : null,
          },
    billing_address: fromGraphqlAddress(node.billingAddress),
    shipping_address: fromGraphqlAddress(node.shippingAddress),
  };
}
